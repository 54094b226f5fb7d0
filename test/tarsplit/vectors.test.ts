import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { readTar } from "../../src/formats/tar/reader.js";
import { assembleTar, tarSizeFromTarSplit } from "../../src/formats/tarsplit/assemble.js";
import { TarSplitBuilder } from "../../src/formats/tarsplit/builder.js";
import { iterateHeaders } from "../../src/formats/tarsplit/headers.js";
import { readTarSplit } from "../../src/formats/tarsplit/reader.js";
import { CASES, chunked, collect, INDEX, parseTar, vectorFile } from "../tar/helpers.js";

async function buildTarSplit(input: AsyncIterable<Uint8Array>): Promise<string> {
  const b = new TarSplitBuilder();
  let out = "";
  for await (const ev of readTar(input)) out += b.push(ev);
  out += b.finish();
  assert.equal(b.bytesWritten, Buffer.byteLength(out));
  return out;
}

for (const name of CASES) {
  test(`TarSplitBuilder output for ${name} is byte-identical to containers/storage's`, async () => {
    const input = vectorFile(name, "input.tar");
    const reference = vectorFile(name, "zstdchunked-v2.tarsplit.json").toString("utf8");
    for (const size of input.length <= 100_000 ? [input.length, 7, 65536] : [65536]) {
      assert.equal(await buildTarSplit(chunked(input, size)), reference, `chunk size ${size}`);
    }
  });

  test(`readTarSplit + assembleTar rebuild ${name}/input.tar (sha256 = input_diff_id)`, async () => {
    const input = vectorFile(name, "input.tar");
    const { files } = await parseTar(input);
    const tarSplit = vectorFile(name, "zstdchunked-v2.tarsplit.json");
    const requested: string[] = [];
    const getFile = async (file: string, size: number) => {
      const content = files.get(file);
      assert.ok(content, `no content for ${file}`);
      assert.equal(content.length, size);
      requested.push(file);
      return chunked(content, 4096);
    };
    const hash = createHash("sha256");
    let total = 0;
    for await (const piece of assembleTar(readTarSplit(chunked(tarSplit, 1000)), getFile)) {
      hash.update(piece);
      total += piece.length;
    }
    assert.equal(`sha256:${hash.digest("hex")}`, INDEX.cases[name]!.input_diff_id);
    assert.equal(total, INDEX.cases[name]!.input_size);
    assert.deepEqual(requested.sort(), [...files.keys()].sort());
    assert.equal(await tarSizeFromTarSplit(readTarSplit([tarSplit])), input.length);
  });

  test(`iterateHeaders over the ${name} reference tar-split equals readTar's headers`, async () => {
    const { headers } = await parseTar(vectorFile(name, "input.tar"));
    const fromSplit = await collect(
      iterateHeaders(readTarSplit([vectorFile(name, "zstdchunked-v2.tarsplit.json")])),
    );
    assert.deepEqual(fromSplit, headers);
  });
}

test("readTarSplit is independent of chunking", async () => {
  const tarSplit = vectorFile("pax", "zstdchunked-v2.tarsplit.json");
  const whole = await collect(readTarSplit([tarSplit]));
  assert.equal(whole.length, tarSplit.toString("utf8").trimEnd().split("\n").length);
  for (const size of [1, 7, 65536]) {
    assert.deepEqual(
      await collect(readTarSplit(chunked(tarSplit, size))),
      whole,
      `chunk size ${size}`,
    );
  }
});
