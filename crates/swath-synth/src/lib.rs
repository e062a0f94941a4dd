//! Synthetic catalogues (work in progress).
