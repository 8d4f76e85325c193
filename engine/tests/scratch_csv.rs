#[test]
fn scratch() {
    let mut files: Vec<_> = std::fs::read_dir("/tmp/mf/csv").unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for p in files {
        let out = match pacer_engine::records::CallingList::load_csv(&p, "Leads", None) {
            Ok(l) => {
                let mut s = pacer_engine::records::RecordStore::new();
                let n = l.len();
                let first = l
                    .records()
                    .first()
                    .map(|r| format!("{:?} {:?}", r.phone.chars().take(20).collect::<String>(), r.attempts));
                format!("OK {n} {first:?} store={:?}", s.add_list(l).err())
            }
            Err(e) => format!("ERR {}", e.to_string().chars().take(200).collect::<String>()),
        };
        println!("{}: {out}", p.file_name().unwrap().to_string_lossy());
    }
}
