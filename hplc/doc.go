// Package hplc implements Q/GDW 1376.2, the concentrator ↔ local communication
// module protocol, and a driver for the HPLC carrier module with a simulator.
package hplc
