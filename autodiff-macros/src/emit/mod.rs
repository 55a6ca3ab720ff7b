//! Emitters: the structured IR and the analyses' facts into Rust tokens.

pub mod codegen;
pub mod forward;
pub mod reverse;
