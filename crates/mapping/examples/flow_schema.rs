//! Prints the flow file JSON Schema; the copy shipped in `flows/flow.schema.json` is made
//! with `cargo run -p ferry-mapping --example flow_schema > flows/flow.schema.json`.

fn main() {
    match serde_json::to_string_pretty(&ferry_mapping::json_schema()) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("cannot serialise the schema: {e}");
            std::process::exit(1);
        }
    }
}
