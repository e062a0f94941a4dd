//! Swath engine (work in progress).
