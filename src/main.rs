//! The `cairn` binary: see `cli.rs`.

fn main() {
    std::process::exit(cairn::cli::run());
}
