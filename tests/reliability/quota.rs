//! quota (being written)
