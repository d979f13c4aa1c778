//! The `cairn` binary: see `cli.rs`.

/// mimalloc returns freed memory to the OS and fragments less than glibc's
/// malloc under Cairn's churn of request buffers and chunk bytes.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cairn::cli::run());
}
