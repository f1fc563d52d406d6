//! Whole-file tests: every error class with its position in the file, and
//! pipelines built from stock elements.

use std::collections::BTreeMap;

use gst::prelude::*;

use super::*;

/// 1-based line and column of the `nth` (0-based) occurrence of `needle`.
fn position(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |n| n + 1)..]
        .chars()
        .count()
        + 1;
    (line, column)
}

fn at(error: &PipelineFileError) -> (usize, usize) {
    (error.line(), error.column())
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn parse_error(text: &str) -> PipelineFileError {
    PipelineFile::parse("t.toml", text).unwrap_err()
}

/// Parses `text` and instantiates it with `pairs`, expecting an error.
fn instantiate_error(text: &str, pairs: &[(&str, &str)]) -> PipelineFileError {
    gst::init().unwrap();
    let file = PipelineFile::parse("t.toml", text).unwrap();
    file.instantiate(&values(pairs)).unwrap_err()
}

/// A file whose launch text is `launch`, as a multi-line literal string.
fn with_launch(launch: &str) -> String {
    format!(
        "description = \"test\"\n[variables.loc]\ndefault = \"x\"\n\
         [variables.key]\nsecret = true\n\n[pipeline]\nlaunch = '''\n{launch}'''\n"
    )
}

#[test]
fn shipped_watch_file_loads() {
    let path = find_pipeline("watch");
    let file = PipelineFile::load(&path).unwrap();
    assert_eq!(file.name(), "watch");
    assert_eq!(file.origin(), path.display().to_string());
    assert_eq!(
        file.description(),
        "Watch a Neko room: decoded video frames to an appsink"
    );
    let names: Vec<&str> = file.variables().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["decoder"]);
    assert_eq!(file.appsinks().collect::<Vec<_>>(), ["frames"]);
    assert_eq!(file.appsrcs().count(), 0);
    assert!(
        file.launch()
            .starts_with("nekosrc name=src decoder=${decoder}")
    );
    let logged = file.launch_with(&BTreeMap::new()).unwrap();
    assert!(
        logged.starts_with("nekosrc name=src decoder=\"auto\" audio=false"),
        "{logged}"
    );
}

#[test]
fn shipped_files_keep_session_settings_out_of_the_launch_text() {
    let directory = find_pipeline("watch").parent().unwrap().to_owned();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file = PipelineFile::load(&path).unwrap();
        for property in [
            "url=",
            "username=",
            "password=",
            "token=",
            "stun-server=",
            "turn-servers=",
            "ice-local-addresses=",
            "ice-transport-policy=",
        ] {
            assert!(
                !file.launch().contains(property),
                "{}: {property} belongs to the session settings the application sets",
                path.display()
            );
        }
    }
}

#[test]
fn instantiates_with_substituted_values() {
    gst::init().unwrap();
    let text = "[variables.loc]\nrequired = true\n[variables.sink]\ndefault = \"out\"\n\
                [pipeline]\nlaunch = 'filesrc name=f location=${loc} ! appsink name=${sink}'\n\
                appsinks = [\"out\"]\n";
    let file = PipelineFile::parse("t.toml", text).unwrap();
    let tricky = "http://h/?a=1&b=2 c ! d \"e\" \\f ${g}";
    let pipeline = file.instantiate(&values(&[("loc", tricky)])).unwrap();
    let source = pipeline.by_name("f").unwrap();
    assert_eq!(source.property::<String>("location"), tricky);
    assert!(pipeline.by_name("out").is_some());
}

#[test]
fn literal_dollar_brace_and_quoted_context() {
    gst::init().unwrap();
    let text = "[variables.name]\ndefault = 'a\"b'\n[pipeline]\n\
                launch = 'filesrc name=f location=\"/$${x}/${name}.mp4\" ! fakesink'\n";
    let file = PipelineFile::parse("t.toml", text).unwrap();
    let pipeline = file.instantiate(&BTreeMap::new()).unwrap();
    let location = pipeline
        .by_name("f")
        .unwrap()
        .property::<String>("location");
    assert_eq!(location, "/${x}/a\"b.mp4");
}

#[test]
fn single_element_descriptions_become_pipelines() {
    gst::init().unwrap();
    let file = PipelineFile::parse(
        "t.toml",
        "[pipeline]\nlaunch = 'appsrc name=in'\nappsrcs = ['in']",
    )
    .unwrap();
    let pipeline = file.instantiate(&BTreeMap::new()).unwrap();
    assert!(pipeline.by_name("in").is_some());
}

#[test]
fn toml_syntax_errors_have_positions() {
    let text = "description = \"x\"\n[pipeline]\nlaunch = 'a' 'b'\n";
    let error = parse_error(text);
    assert_eq!(error.kind(), ErrorKind::Format);
    assert_eq!(at(&error), position(text, "'b'", 0));
    assert!(error.to_string().starts_with("t.toml:3:14: "), "{error}");
}

#[test]
fn missing_launch_is_reported() {
    let error = parse_error("description = \"x\"\n");
    assert_eq!((error.kind(), at(&error)), (ErrorKind::Format, (1, 1)));
    assert!(error.reason().contains("[pipeline]"));
    let text = "description = \"x\"\n\n[pipeline]\nappsinks = []\n";
    let error = parse_error(text);
    assert_eq!(at(&error), (3, 1));
    assert!(error.reason().contains("launch"), "{error}");
}

#[test]
fn unknown_keys_are_reported_where_they_are() {
    let text = "description = \"x\"\nlanch = 'a'\n[pipeline]\nlaunch = 'fakesink'\n";
    let error = parse_error(text);
    assert_eq!(at(&error), (2, 1));
    assert!(error.reason().contains("unknown field `lanch`"), "{error}");
    let text = "[pipeline]\nlaunch = 'fakesink'\n  appsink = ['x']\n";
    assert_eq!(at(&parse_error(text)), (3, 3));
    let text = "[variables.a]\nrequried = true\n[pipeline]\nlaunch = 'fakesink'\n";
    assert_eq!(at(&parse_error(text)), (2, 1));
}

#[test]
fn bad_variable_references_are_reported_at_the_dollar() {
    let text = with_launch("fakesink name=${loc}\n  location=${lco} ! fakesink");
    let error = parse_error(&text);
    assert_eq!(error.kind(), ErrorKind::Variable);
    assert_eq!(at(&error), position(&text, "${lco}", 0));
    assert!(
        error.reason().contains("undeclared variable \"lco\""),
        "{error}"
    );

    let text = with_launch("fakesink name=${loc\n ! fakesink");
    let error = parse_error(&text);
    assert_eq!(at(&error), position(&text, "${loc", 0));
    assert!(error.reason().contains("unterminated"), "{error}");
}

#[test]
fn bad_declarations_are_reported() {
    let text = "[variables.a]\nrequired = true\ndefault = 'x'\n[pipeline]\nlaunch = 'fakesink'\n";
    assert_eq!(at(&parse_error(text)), (1, 1));
}

#[test]
fn syntax_errors_are_reported_at_their_exact_position() {
    let cases = [
        (
            "videotestsrc ! fakesink name=\"abc\n",
            "\"abc",
            "unterminated",
        ),
        ("videotestsrc ! ! fakesink\n", "! !", "right"),
        ("! videotestsrc ! fakesink\n", "! videotestsrc", "left"),
        ("videotestsrc name=${loc} !\n", "!", "right"),
        ("videotestsrc ! ( fakesink\n", "(", "never closed"),
        ("videotestsrc ! fakesink )\n", ")", "'('"),
    ];
    for (launch, needle, reason) in cases {
        let text = with_launch(launch);
        let error = parse_error(&text);
        assert_eq!(error.kind(), ErrorKind::Syntax, "{error}");
        assert_eq!(at(&error), position(&text, needle, 0), "{error}");
        assert!(error.reason().contains(reason), "{error}");
    }
}

#[test]
fn gstreamer_errors_are_mapped_to_the_offending_token() {
    let cases = [
        (
            "filesrc location=${loc}\n  ! vidoeconvert ! fakesink\n",
            "vidoeconvert",
            "no element \"vidoeconvert\"",
        ),
        (
            "videotestsrc ! fakesink name=s\n  ! identity name=i sillyprop=3 ! fakesink\n",
            "sillyprop",
            "no property \"sillyprop\" in element",
        ),
        (
            "audiotestsrc ! videoconvert name=vc ! fakesink\n",
            "! videoconvert",
            "could not link audiotestsrc",
        ),
    ];
    for (launch, needle, reason) in cases {
        let text = with_launch(launch);
        let error = instantiate_error(&text, &[]);
        assert_eq!(error.kind(), ErrorKind::Launch, "{error}");
        assert_eq!(at(&error), position(&text, needle, 0), "{error}");
        assert!(error.reason().starts_with(reason), "{error}");
    }
}

#[test]
fn unlocated_gstreamer_errors_point_at_the_launch_start() {
    // The syntax check lets `name.` references through; GStreamer says only
    // "syntax error" here.
    let text = with_launch("videotestsrc name=x ! x. ! fakesink\n");
    let error = instantiate_error(&text, &[]);
    assert_eq!(error.reason(), "syntax error");
    assert_eq!(at(&error), position(&text, "videotestsrc", 0));
}

#[test]
fn secrets_are_masked_in_gstreamer_errors() {
    let text = with_launch("videotestsrc pattern=${key} ! fakesink\n");
    let error = instantiate_error(&text, &[("key", "hunter2")]);
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(error.reason().contains("***"), "{error}");
    assert_eq!(at(&error), position(&text, "pattern", 0));
}

#[test]
fn value_problems_are_reported() {
    let text = with_launch("fakesink name=${loc}\n");
    let error = instantiate_error(&text, &[("lco", "x")]);
    assert_eq!(error.kind(), ErrorKind::Variable);
    assert!(
        error.reason().contains("undeclared variable \"lco\""),
        "{error}"
    );
    assert_eq!(at(&error), position(&text, "variables.loc", 0));
}

#[test]
fn required_app_elements_are_checked() {
    let base =
        "[pipeline]\nlaunch = 'videotestsrc ! fakesink name=frames  appsrc name=in ! fakesink'\n";
    let text = format!("{base}appsinks = [\"frames\"]\n");
    let error = instantiate_error(&text, &[]);
    assert_eq!(error.kind(), ErrorKind::Element);
    assert_eq!(at(&error), position(&text, "\"frames\"", 0));
    assert!(
        error.reason().contains("fakesink, not an appsink"),
        "{error}"
    );

    let text = format!("{base}appsrcs = [\"in\", \"voice\"]\n");
    let error = instantiate_error(&text, &[]);
    assert_eq!(at(&error), position(&text, "\"voice\"", 0));
    assert!(
        error.reason().contains("no element named \"voice\""),
        "{error}"
    );
}

#[test]
fn basic_string_positions_follow_escapes() {
    let text = "[pipeline]\nlaunch = \"videotestsrc\\t! \\u0069dentity ! vidoeconvert\"\n";
    let error = instantiate_error(text, &[]);
    assert_eq!(at(&error), position(text, "vidoeconvert", 0));
    let text = "[pipeline]\nlaunch = \"\"\"\nvideotestsrc ! \\\n   ( fakesink\"\"\"\n";
    assert_eq!(at(&parse_error(text)), position(text, "(", 0));
}

#[test]
fn unreadable_files_name_the_path() {
    let error = PipelineFile::load(Path::new("/nonexistent/x.toml")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/x.toml:1:1: cannot read")
    );
}

#[test]
fn no_input_makes_it_panic() {
    let text = std::fs::read_to_string(find_pipeline("watch")).unwrap();
    for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        let _ = PipelineFile::parse("t.toml", &text[..cut]);
        let mut broken = text.clone();
        broken.insert(cut, '"');
        let _ = PipelineFile::parse("t.toml", &broken);
    }
}
