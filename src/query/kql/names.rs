//! Names KQL gives things: built-in functions (never tables), ASIM parser names, the
//! default column names of unnamed expressions.

use super::ast::*;

/// ASIM function names (`_Im_Dns`, `imProcessCreate`, `ASimDnsActivityLogs`, `vimDns`).
pub(super) fn looks_like_asim(name: &str) -> bool {
    let upper_after = |p: &str| {
        name.strip_prefix(p)
            .and_then(|r| r.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase())
    };
    name.starts_with("_Im_")
        || name.starts_with("_ASim_")
        || name.starts_with("_im_")
        || upper_after("im")
        || upper_after("ASim")
        || upper_after("vim")
}

/// Built-in scalar and aggregation functions: never tables or stored functions.
pub(super) fn is_scalar_function(n: &str) -> bool {
    const F: &[&str] = &[
        "ago",
        "now",
        "datetime",
        "todatetime",
        "pack",
        "pack_array",
        "pack_all",
        "bag_pack",
        "case",
        "iff",
        "iif",
        "array_length",
        "array_concat",
        "array_slice",
        "array_sort_asc",
        "array_sort_desc",
        "array_index_of",
        "array_strcat",
        "strcat",
        "strcat_array",
        "strcat_delim",
        "strlen",
        "string_size",
        "tostring",
        "toint",
        "tolong",
        "todouble",
        "toreal",
        "tobool",
        "toguid",
        "totimespan",
        "todecimal",
        "tolower",
        "toupper",
        "dynamic",
        "parse_json",
        "parsejson",
        "todynamic",
        "split",
        "extract",
        "extract_all",
        "extractjson",
        "replace",
        "replace_string",
        "replace_regex",
        "trim",
        "trim_start",
        "trim_end",
        "substring",
        "indexof",
        "countof",
        "bin",
        "floor",
        "format_datetime",
        "format_timespan",
        "datetime_diff",
        "datetime_add",
        "datetime_part",
        "coalesce",
        "isempty",
        "isnotempty",
        "isnull",
        "isnotnull",
        "hash",
        "hash_sha256",
        "hash_md5",
        "hash_sha1",
        "base64_decode_tostring",
        "base64_encode_tostring",
        "base64_decodestring",
        "base64_encodestring",
        "url_decode",
        "url_encode",
        "parse_url",
        "parse_path",
        "parse_ipv4",
        "parse_user_agent",
        "parse_command_line",
        "geo_info_from_ip_address",
        "ipv4_is_private",
        "ipv4_is_match",
        "ipv4_is_in_range",
        "set_union",
        "set_intersect",
        "set_difference",
        "set_has_element",
        "zip",
        "repeat",
        "unixtime_seconds_todatetime",
        "unixtime_milliseconds_todatetime",
        "not",
        "bag_keys",
        "bag_merge",
        "bag_remove_keys",
        "column_ifexists",
        "columnifexists",
        "startofday",
        "startofweek",
        "startofmonth",
        "startofyear",
        "endofday",
        "endofweek",
        "endofmonth",
        "endofyear",
        "make_datetime",
        "make_timespan",
        "dayofweek",
        "dayofmonth",
        "hourofday",
        "getmonth",
        "getyear",
        "round",
        "abs",
        "log",
        "log10",
        "exp",
        "pow",
        "sqrt",
        "rand",
        "min_of",
        "max_of",
        "tohex",
        "reverse",
        "translate",
        "new_guid",
        "gettype",
        "typeof",
        "row_number",
        "prev",
        "next",
        "series_decompose_anomalies",
        "series_fir",
        "series_stats",
        "series_fill_linear",
        "range",
        "toscalar",
        "count",
        "dcount",
        "sum",
        "avg",
        "min",
        "max",
        "make_set",
        "make_list",
        "make_bag",
        "arg_max",
        "arg_min",
        "take_any",
        "any",
        "percentile",
        "stdev",
        "variance",
        "countif",
        "dcountif",
        "sumif",
    ];
    F.contains(&n)
}

/// The column name KQL gives an unnamed expression (`count()` → `count_`,
/// `make_set(x)` → `set_x`, `bin(TimeGenerated, 1h)` → `TimeGenerated`).
pub(super) fn default_name(ex: &Ex) -> String {
    match &ex.kind {
        ExKind::Ident(n) => n.clone(),
        ExKind::Member { base, name } => format!("{}_{name}", default_name(base)),
        ExKind::Index { base, index } => match &index.kind {
            ExKind::Str(k) => format!("{}_{k}", default_name(base)),
            _ => default_name(base),
        },
        ExKind::Call { name, args } => {
            let first = args.first().map(default_name).unwrap_or_default();
            let n = name.to_ascii_lowercase();
            match n.as_str() {
                "count" => "count_".into(),
                "countif" => "countif_".into(),
                "make_set" | "make_set_if" | "makeset" => format!("set_{first}"),
                "make_list" | "make_list_if" | "makelist" => format!("list_{first}"),
                "make_bag" | "make_bag_if" => format!("bag_{first}"),
                "dcount" | "dcountif" | "min" | "max" | "sum" | "sumif" | "avg" | "avgif"
                | "stdev" | "variance" | "any" | "minif" | "maxif" => {
                    format!("{n}_{first}")
                }
                "arg_max" | "arg_min" | "take_any" => first,
                "percentile" => {
                    let p = args.get(1).map(default_name).unwrap_or_default();
                    format!("percentile_{first}_{p}")
                }
                _ if !first.is_empty() => first,
                _ => "Column1".into(),
            }
        }
        ExKind::Num(n) => format!("{n}"),
        ExKind::Str(s) => s.clone(),
        _ => "Column1".into(),
    }
}
