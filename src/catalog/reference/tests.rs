use super::*;

const TABLES_REF: &str = "\"table_name\",\"description\",\"category\",\"source_azure_monitor\",\"source_defender_xdr\",\"xdr_only\",\"supports_transformations\",\"ingestion_api_supported\",\"basic_logs_eligible\",\"azure_monitor_doc_link\"
\"SigninLogs\",\"Entra ID sign-ins, \"\"interactive\"\" ones\",\"Audit\",\"Yes\",\"No\",\"No\",\"\",\"No\",\"Partial support, see docs\",\"https://example.test/signinlogs\"
\"Broken\",\"only three\",\"fields\"
\"\",\"no name\",\"Audit\",\"Yes\",\"No\",\"No\",\"\",\"\",\"\",\"\"
\"DeviceProcessEvents\",\"Process creation\",\"XDR\",\"Yes\",\"Yes\",\"No\",\"\",\"\",\"\",\"\"
";

const TABLES: &str =
    "table_name,description,supports_transformations,ingestion_api_supported,support_tier
SigninLogs,a later description,Yes,Yes,Microsoft
Okta_CL,,,,Partner
";

#[test]
fn quoted_empty_and_malformed_rows() {
    let mut diags = Vec::new();
    let mut r = Reference::default();
    r.add_file(
        "tables_reference.csv",
        TABLES_REF,
        "ref/tables_reference.csv",
        &mut diags,
    );
    // The short row and the nameless row are reported with their lines; the rest loads.
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(diags[0].code, Check::ReferenceRow);
    assert_eq!(diags[0].line, 3);
    assert!(
        diags[0].message.contains("3 fields"),
        "{}",
        diags[0].message
    );
    assert_eq!(diags[1].line, 4);
    assert_eq!(r.tables.len(), 2);
    let t = r.table("signinlogs").expect("case-insensitive lookup");
    // Quoted comma and doubled quotes survive.
    assert_eq!(
        t.description.as_deref(),
        Some("Entra ID sign-ins, \"interactive\" ones")
    );
    assert_eq!(t.basic_logs.as_deref(), Some("Partial support, see docs"));
    // Empty fields are "not stated", not "No".
    assert_eq!(t.transformations, None);
    assert_eq!(t.ingestion_api.as_deref(), Some("No"));
    assert_eq!(t.source().as_deref(), Some("Azure Monitor"));
    assert_eq!(
        r.table("DeviceProcessEvents").unwrap().source().as_deref(),
        Some("Azure Monitor, Defender XDR")
    );

    // tables.csv fills gaps only; it never overrides tables_reference.csv.
    r.add_file("tables.csv", TABLES, "ref/tables.csv", &mut diags);
    assert_eq!(diags.len(), 2);
    let t = r.table("SigninLogs").unwrap();
    assert_eq!(t.transformations.as_deref(), Some("Yes"));
    assert_eq!(t.ingestion_api.as_deref(), Some("No"));
    assert_eq!(
        t.description.as_deref(),
        Some("Entra ID sign-ins, \"interactive\" ones")
    );
    assert_eq!(t.support_tier.as_deref(), Some("Microsoft"));
    assert!(r.table("Okta_CL").is_some());
}

#[test]
fn a_file_without_its_key_column_is_skipped() {
    let mut diags = Vec::new();
    let mut r = Reference::default();
    r.add_file("tables.csv", "name,category\nX,Y\n", "t.csv", &mut diags);
    assert!(r.tables.is_empty());
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].line, 1);
}

#[test]
fn solutions_map_and_parsers() {
    let mut diags = Vec::new();
    let mut r = Reference::default();
    r.add_file(
        "solutions.csv",
        "solution_name,solution_folder,solution_version,solution_support_tier,solution_categories\n\
         Okta Single Sign-On,https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Okta%20Single%20Sign-On,3.1.0,Microsoft,\"domains,Identity\"\n",
        "s.csv",
        &mut diags,
    );
    r.add_file(
        "solutions_connectors_tables_mapping_simplified.csv",
        "solution_name,connector_id,table_name\nOkta Single Sign-On,,\nOkta Single Sign-On,OktaSSO,Okta_CL\nOkta Single Sign-On,OktaSSOv2,Okta_CL\n",
        "m.csv",
        &mut diags,
    );
    r.add_file(
        "parsers.csv",
        "parser_name,tables,solution_folder,source_file\nOktaSSO,\"OktaV2_CL, Okta_CL\",Okta Single Sign-On,Solutions\\Okta Single Sign-On\\Parsers\\OktaSSO.yaml\n",
        "p.csv",
        &mut diags,
    );
    r.finish();
    assert!(diags.is_empty(), "{diags:?}");
    let s = r.solution("Okta Single Sign-On").unwrap();
    assert_eq!(s.folder, "Okta Single Sign-On");
    assert_eq!(s.categories, vec!["Identity"]);
    assert_eq!(r.links_of_table("okta_cl").count(), 2);
    assert_eq!(r.links_of_connector("OktaSSO").count(), 1);
    assert_eq!(r.links_of_solution("Okta Single Sign-On").count(), 3);
    let p = r.parser("oktasso").unwrap();
    assert_eq!(p.tables, vec!["OktaV2_CL", "Okta_CL"]);
    assert_eq!(
        p.source_file.as_deref(),
        Some("Solutions/Okta Single Sign-On/Parsers/OktaSSO.yaml")
    );
    assert_eq!(r.parsers_of_table("Okta_CL").count(), 1);
}

#[test]
fn folder_urls_are_decoded() {
    assert_eq!(folder_of("https://x/Solutions/A%20B%2"), "A B%2");
    assert_eq!(folder_of("https://x/Solutions/Plain/"), "Plain");
}
