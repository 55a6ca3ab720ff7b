//! IR-to-IR passes, between lowering and the analyses.

pub mod structure;
