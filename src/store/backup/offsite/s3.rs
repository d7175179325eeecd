//! An S3-compatible bucket as a remote: objects `PREFIX/NAME`, signed with the access key and
//! the secret read from its credential file.

use super::{Remote, RemoteFile};
use crate::config::S3Target;
use crate::error::{Error, Result};
use s3::{Bucket, Region, creds::Credentials};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// A bucket and the prefix of our archives in it.
pub(super) struct S3 {
    bucket: Box<Bucket>,
    prefix: String,
}

/// The store's answer in words, without anything of the request that signed it.
fn failed(what: &str, e: s3::error::S3Error) -> Error {
    let detail = match e {
        s3::error::S3Error::HttpFailWithBody(code, body) => {
            // The XML error body names the problem (<Code>NoSuchBucket</Code>).
            let code_word = body
                .split("<Code>")
                .nth(1)
                .and_then(|r| r.split("</Code>").next())
                .unwrap_or("");
            if code_word.is_empty() {
                // No S3 error document: say what came, shortened, on one line.
                let shown: String = body
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(200)
                    .collect();
                format!("the store answered {code}: {shown}")
            } else {
                format!("the store answered {code} {code_word}")
            }
        }
        other => other.to_string(),
    };
    Error::Conflict(format!("{what}: {detail}"))
}

impl S3 {
    pub(super) fn new(t: &S3Target, secret: &str, timeout: Duration) -> Result<S3> {
        let creds = Credentials::new(Some(&t.access_key), Some(secret), None, None, None)
            .map_err(|e| Error::Config(format!("S3 credentials: {e}")))?;
        let region = Region::Custom {
            region: t.region.clone(),
            endpoint: t.endpoint.clone(),
        };
        let mut bucket = Bucket::new(&t.bucket, region, creds)
            .map_err(|e| Error::Config(format!("bucket {}: {e}", t.bucket)))?;
        if t.path_style {
            bucket.set_path_style();
        }
        bucket.set_request_timeout(Some(timeout));
        Ok(S3 {
            bucket,
            prefix: t.prefix.clone(),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Remote for S3 {
    fn files(&mut self) -> Result<Vec<RemoteFile>> {
        let pages = self
            .bucket
            .list(self.prefix.clone(), Some("/".into()))
            .map_err(|e| failed("listing the bucket", e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.contents)
            .filter_map(|o| {
                let name = o.key.strip_prefix(&self.prefix)?.to_string();
                let modified = o
                    .last_modified
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.as_second())
                    .unwrap_or(0);
                (!name.contains('/')).then_some(RemoteFile {
                    name,
                    bytes: o.size,
                    modified,
                })
            })
            .collect())
    }

    fn put(&mut self, local: &Path, name: &str, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut file = std::fs::File::open(local)
            .map_err(|e| Error::io(format!("reading {}", local.display()), e))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        // Larger archives go up in parts: a multipart upload that the store commits whole.
        match self.bucket.put_object_stream(&mut file, self.key(name)) {
            Ok(_) => {}
            // A 200 whose completion document has another root element than AWS's (moto
            // names it CompleteMultipartUploadResponse) committed the upload all the same;
            // the read-back that follows every upload decides whether the copy is good.
            Err(s3::error::S3Error::HttpFailWithBody(200, body))
                if body.contains("<CompleteMultipartUpload") && !body.contains("<Error>") => {}
            Err(e) => return Err(failed(&format!("uploading {name}"), e)),
        }
        progress(len);
        Ok(())
    }

    fn get(&mut self, name: &str, dest: &mut (dyn Write + Send)) -> Result<u64> {
        let mut counted = CountingWriter { inner: dest, n: 0 };
        self.bucket
            .get_object_to_writer(self.key(name), &mut counted)
            .map_err(|e| failed(&format!("downloading {name}"), e))?;
        Ok(counted.n)
    }

    fn delete(&mut self, name: &str) -> Result<()> {
        match self.bucket.delete_object(self.key(name)) {
            Ok(_) => Ok(()),
            Err(s3::error::S3Error::HttpFailWithBody(404, _)) => Ok(()),
            Err(e) => Err(failed(&format!("removing {name}"), e)),
        }
    }
}

/// Counts what passes into a writer.
struct CountingWriter<'a> {
    inner: &'a mut (dyn Write + Send),
    n: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
