//! Swath grids (work in progress).
