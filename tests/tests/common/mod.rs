//! Helpers shared by the end-to-end test binaries; a test file includes them with `mod common;`.

// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod browser;
pub mod mock_process;
