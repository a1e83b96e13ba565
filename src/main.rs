fn main() {
    std::process::exit(ruledex::cli::main());
}
