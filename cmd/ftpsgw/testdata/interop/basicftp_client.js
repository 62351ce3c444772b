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
  waitForSecureUploads(client);
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

// waitForSecureUploads works around a basic-ftp race: an upload starts
// as soon as the data socket's getCipher() is defined, and Node defines
// it for a socket that resumes a session before its handshake has begun
// (seen on TLS 1.2 and 1.3). An empty file then ends the socket
// mid-handshake, without close_notify (the gateway answers 426 and keeps
// nothing) or before the client's Finished (425 once data_timeout
// passes). Here getCipher() of each data socket stays undefined until
// 'secureConnect', so the upload waits for it, as basic-ftp means it to.
// Client assigns prepareTransfer once it has found a transfer mode, so
// the property wraps whatever is assigned.
function waitForSecureUploads(client) {
  let prepare = client.prepareTransfer;
  Object.defineProperty(client, "prepareTransfer", {
    get: () => async (ctx) => {
      const res = await prepare.call(client, ctx);
      const ds = ctx.dataSocket;
      if (ds instanceof tls.TLSSocket) {
        let secure = false;
        const cipher = ds.getCipher.bind(ds);
        ds.once("secureConnect", () => { secure = true; });
        ds.getCipher = () => (secure ? cipher() : undefined);
      }
      return res;
    },
    set: (fn) => { prepare = fn; },
  });
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
