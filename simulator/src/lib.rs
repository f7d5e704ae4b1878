//! Simulator of toolcall (in progress).
