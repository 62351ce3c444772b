// Node's basic-ftp against ftpsgw, for cmd/ftpsgw/interop_test.go.
// Usage: node basicftp_client.js PORT USER PASSWORD CA_FILE TLS(1.2|1.3)
// Run in a working directory holding single.bin and tree/: uploads
// single.bin, downloads it as got.bin, lists the home, uploads tree/ to
// tree/ and downloads tree/ into back/. basic-ftp resumes the control
// connection's TLS session on its data connections. Prints one JSON line.
"use strict";
const fs = require("fs");
const tls = require("tls");
const ftp = require("basic-ftp");

async function main() {
  const [port, user, password, caFile, ver] = process.argv.slice(2);
  const secureOptions = { ca: fs.readFileSync(caFile) };
  if (ver === "1.2") {
    secureOptions.maxVersion = "TLSv1.2";
  } else {
    secureOptions.minVersion = "TLSv1.3";
  }
  const client = new ftp.Client(30000);
  const out = { node: process.version, basic_ftp: require("basic-ftp/package.json").version };
  try {
    await client.access({ host: "127.0.0.1", port: Number(port), user, password, secure: true, secureOptions });
    out.tls_version = client.ftp.socket.getProtocol();
    await client.uploadFrom("single.bin", "single.bin");
    await client.downloadTo("got.bin", "single.bin");
    out.list = (await client.list()).map((f) => f.name);
    await client.ensureDir("/tree");
    await client.cd("/");
    await client.uploadFromDir("tree", "tree");
    await client.cd("/");
    await client.downloadToDir("back", "tree");
  } finally {
    client.close();
  }
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
