//! The shared storage test suite (written with the SQLite backend).
