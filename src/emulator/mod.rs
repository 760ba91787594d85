//! The loopback emulator of the Falcon API subset that RTR clients use.

pub mod archive;
pub mod content;
pub mod fql;
pub mod world;
