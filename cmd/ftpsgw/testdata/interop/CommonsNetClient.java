// Apache Commons Net FTPSClient against ftpsgw, for
// cmd/ftpsgw/interop_test.go. Run with the source launcher:
//   java -cp /usr/share/java/commons-net.jar CommonsNetClient.java \
//        HOST PORT USER PASSWORD CA_FILE SOURCE_ADDRESS
// (add -Djdk.tls.client.protocols=TLSv1.2 to force TLS 1.2). In a working
// directory holding single.bin and tree/, it uploads single.bin, downloads
// it as got.bin, lists the home, uploads tree/ to tree/ and downloads
// tree/ into back/. FTPSClient never resumes the control connection's TLS
// session on data connections, so it needs session_reuse "observe" or an
// exemption. Control and data connections bind SOURCE_ADDRESS.
import java.io.*;
import java.net.InetAddress;
import java.nio.file.*;
import java.security.KeyStore;
import java.security.cert.*;
import java.util.*;
import javax.net.ssl.*;
import org.apache.commons.net.ftp.*;

public class CommonsNetClient {
  static FTPSClient ftp;
  static int downloaded = 0;

  public static void main(String[] a) throws Exception {
    String host = a[0], user = a[2], pass = a[3], ca = a[4], src = a[5];
    int port = Integer.parseInt(a[1]);
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = new FileInputStream(ca)) {
      ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    ftp = new FTPSClient(false);
    ftp.setTrustManager(tmf.getTrustManagers()[0]);
    ftp.setEndpointCheckingEnabled(true);
    ftp.setControlEncoding("UTF-8");
    ftp.setDefaultTimeout(30000);
    ftp.setConnectTimeout(10000);
    ftp.setDataTimeout(java.time.Duration.ofSeconds(30));
    InetAddress local = InetAddress.getByName(src);
    ftp.connect(InetAddress.getByName(host), port, local, 0);
    check(FTPReply.isPositiveCompletion(ftp.getReplyCode()), "banner");
    ftp.execPBSZ(0);
    ftp.execPROT("P");
    check(ftp.login(user, pass), "login");
    ftp.enterLocalPassiveMode();
    ftp.setPassiveLocalIPAddress(local);
    ftp.setFileType(FTP.BINARY_FILE_TYPE);

    try (InputStream in = new FileInputStream("single.bin")) {
      check(ftp.storeFile("single.bin", in), "STOR single.bin");
    }
    try (OutputStream o = new FileOutputStream("got.bin")) {
      check(ftp.retrieveFile("single.bin", o), "RETR single.bin");
    }
    String[] names = ftp.listNames();
    check(names != null, "NLST");
    FTPFile[] files = ftp.listFiles();
    check(files != null && ftp.getReplyCode() == 226, "LIST");
    StringBuilder list = new StringBuilder();
    for (FTPFile f : files) list.append(f.getName()).append(' ');

    upload(Paths.get("tree"), "tree");
    download("tree", Paths.get("back"));
    ftp.logout();
    ftp.disconnect();
    System.out.println("{\"java\":\"" + System.getProperty("java.version") + "\",\"nlst\":\"" + String.join(" ", names)
        + "\",\"list\":\"" + list.toString().trim() + "\",\"downloaded\":" + downloaded + "}");
  }

  static void upload(Path local, String remote) throws IOException {
    ftp.makeDirectory(remote); // may exist
    File[] entries = local.toFile().listFiles();
    Arrays.sort(entries);
    for (File e : entries) {
      String r = remote + "/" + e.getName();
      if (e.isDirectory()) {
        upload(e.toPath(), r);
      } else {
        try (InputStream in = new FileInputStream(e)) {
          check(ftp.storeFile(r, in), "STOR " + r);
        }
      }
    }
  }

  static void download(String remote, Path local) throws IOException {
    Files.createDirectories(local);
    FTPFile[] entries = ftp.mlistDir(remote);
    check(entries != null && ftp.getReplyCode() == 226, "MLSD " + remote);
    for (FTPFile e : entries) {
      String n = e.getName();
      if (n.equals(".") || n.equals("..")) continue;
      if (e.isDirectory()) {
        download(remote + "/" + n, local.resolve(n));
      } else if (e.isFile()) {
        try (OutputStream o = new FileOutputStream(local.resolve(n).toFile())) {
          check(ftp.retrieveFile(remote + "/" + n, o), "RETR " + remote + "/" + n);
        }
        downloaded++;
      }
    }
  }

  static void check(boolean ok, String what) throws IOException {
    if (!ok) {
      throw new IOException(what + " failed: " + ftp.getReplyString().trim());
    }
  }
}
