// Rendering builds and drops millions of small strings and maps; mimalloc roughly halves
// the time glibc's allocator spent on them (see docs/architecture.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(ruledex::cli::main());
}
