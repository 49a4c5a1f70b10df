//! interrupt (being written)
