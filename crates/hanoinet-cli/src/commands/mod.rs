pub mod bench;
pub mod bench_console;
pub mod bench_ledger;
pub mod demo;
pub mod ledger;
pub mod node;
pub mod registry;
pub mod request;
