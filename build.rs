//! Compiles the `.proto` files in `proto/` with protox (pure Rust, so no
//! system `protoc` is needed) and generates prost types.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/remote_write_v1.proto",
        "proto/remote_write_v2.proto",
        "proto/loki_push.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
