//! A rule group: its rules evaluated in order at one timestamp, each
//! rule's output written to the TSDB before the next rule runs.
