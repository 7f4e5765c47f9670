/**
 * Test TLS material made with the system `openssl`: a CA plus a leaf for 127.0.0.1 and
 * localhost. Two certificates because rustls rejects a self-signed certificate that is its
 * own CA ("CaUsedAsEndEntity"), even when it is passed as the trusted root.
 *
 * @module
 */

/** PEM strings: trust `caPem` in the client; serve `certPem`/`keyPem`. */
export interface TestCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

let cached: Promise<TestCertificates> | undefined;

/**
 * Creates (once per process; later calls share the result) a P-256 CA and a leaf
 * certificate valid for `IP:127.0.0.1` and `DNS:localhost`, in a temp dir that is removed
 * afterwards. Needs `openssl` on PATH and `--allow-run --allow-write --allow-read`.
 */
export function makeTestCertificates(): Promise<TestCertificates> {
  cached ??= generate().catch((err) => {
    cached = undefined; // let a later call retry instead of caching the failure
    throw err;
  });
  return cached.then((c) => ({ ...c }));
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`openssl ${args[0]} failed (exit ${out.code}): ${err}`);
  }
}

async function generate(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "fake_trueconf_tls_" });
  try {
    // EC keys: generation is instant, unlike RSA, and rustls accepts P-256.
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "30",
      "-subj",
      "/CN=Fake TrueConf Test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      "key.pem",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=127.0.0.1",
    ]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      [
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "",
      ].join("\n"),
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "cert.pem",
      "-days",
      "30",
      "-extfile",
      "leaf.ext",
    ]);
    const [caPem, certPem, keyPem] = await Promise.all(
      ["ca.pem", "cert.pem", "key.pem"].map((f) => Deno.readTextFile(`${dir}/${f}`)),
    );
    return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
