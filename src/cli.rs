//! The command-line interface of the `rtrsh` binary.
