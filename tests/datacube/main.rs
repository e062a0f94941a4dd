//! Datacube tables end to end.
