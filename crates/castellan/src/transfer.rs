//! `castellan export` and `castellan import`: a whole installation as JSON lines, to move it
//! between the embedded database and PostgreSQL (either way). Rows travel as stored: hashes and
//! sealed secrets, never plain secrets, so the target must use the same master key.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use castellan_store::Store;
use castellan_store::export::{Cursor, Row, TABLES, Table};
use serde_json::json;

use crate::setup::{self, DataArgs};

/// The first line of an export.
const FORMAT: &str = "castellan-export";
const VERSION: u64 = 1;
/// Rows read, and imported in one transaction, at a time.
const BATCH: u32 = 500;

pub async fn export(data: &DataArgs, output: Option<&Path>) -> anyhow::Result<()> {
    let store = setup::open_store(data).await?;
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(private_file(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(&mut out);
    writeln!(out, "{}", json!({ "format": FORMAT, "version": VERSION }))?;
    let mut rows = 0u64;
    for table in TABLES {
        let mut after = Cursor::Start;
        loop {
            let page = store.export_rows(table, &after, BATCH).await?;
            for row in &page {
                serde_json::to_writer(&mut out, row)?;
                out.write_all(b"\n")?;
            }
            rows += page.len() as u64;
            match page.last() {
                Some(last) if page.len() == BATCH as usize => after = last.cursor(),
                _ => break,
            }
        }
    }
    out.flush()?;
    eprintln!(
        "exported {rows} rows from the database ({})",
        data.describe()
    );
    Ok(())
}

/// The export holds sealed secrets and token hashes: readable by its owner only.
fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

pub async fn import(data: &DataArgs, input: Option<&Path>) -> anyhow::Result<()> {
    let store = setup::open_store(data).await?;
    for table in [Table::Owners, Table::Services, Table::Clients] {
        if !store
            .export_rows(table, &Cursor::Start, 1)
            .await?
            .is_empty()
        {
            bail!(
                "the target database ({}) already holds data; import only into an empty one",
                data.describe()
            );
        }
    }
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut lines = reader.lines();
    let header = lines
        .next()
        .ok_or_else(|| anyhow!("the export is empty"))??;
    let header: serde_json::Value =
        serde_json::from_str(&header).context("the first line is not an export header")?;
    if header["format"] != FORMAT || header["version"] != VERSION {
        bail!("not a {FORMAT} version {VERSION} file: {header}");
    }
    let mut batch = Vec::new();
    let mut rows = 0u64;
    for (number, line) in (2..).zip(lines) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Row =
            serde_json::from_str(&line).with_context(|| format!("line {number} is not a row"))?;
        batch.push(row);
        if batch.len() == BATCH as usize {
            rows += flush(&*store, &mut batch).await?;
        }
    }
    rows += flush(&*store, &mut batch).await?;
    eprintln!(
        "imported {rows} rows into the database ({})",
        data.describe()
    );
    Ok(())
}

async fn flush(store: &dyn Store, batch: &mut Vec<Row>) -> anyhow::Result<u64> {
    let count = batch.len() as u64;
    if count > 0 {
        store.import_rows(batch).await.context(
            "import stopped; the rows before this batch are stored, so start again on an empty database",
        )?;
        batch.clear();
    }
    Ok(count)
}
