// Package dlt645 implements DL/T 645-2007 meter frames as carried over HPLC.
package dlt645
