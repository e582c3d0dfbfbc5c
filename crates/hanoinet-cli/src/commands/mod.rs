pub mod bench;
pub mod demo;
pub mod node;
pub mod registry;
pub mod request;
