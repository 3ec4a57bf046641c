// Package ratelog bounds how many log lines one source can write: a
// slog.Handler wrapper that passes the first Burst records of each (source,
// level, message) key in a Window and counts the rest, then writes one
// line with the count of the records it suppressed. A peer that floods the
// uplink with bad frames thus costs a few lines a minute, not thousands a
// second, and cannot push other parts' alarms out of the journal or the
// console's log ring.
//
// A source is what the record's attributes (those given to Logger.With and
// the record's own) say under the configured keys ("part", "device",
// "peer", "master" by default): records of two parts, two devices or two
// peers never share a budget.
//
// What it must never do: drop a record without counting it, reorder the
// records it passes, or run a goroutine or timer of its own (the summary
// of a window is written with the first record handled after the window
// ended, or by Flush). It imports no other holdup package.
package ratelog
