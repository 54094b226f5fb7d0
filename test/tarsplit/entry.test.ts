import assert from "node:assert/strict";
import { test } from "node:test";
import { crc64 } from "../../src/formats/tarsplit/crc64.js";
import { encodeEntry, fileEntry, goJsonString } from "../../src/formats/tarsplit/entry.js";

test("encodeEntry reproduces lines written by Go (spec §4.1)", () => {
  assert.equal(
    encodeEntry({ type: 2, payload: Buffer.from("ab"), position: 0 }),
    '{"type":2,"payload":"YWI=","position":0}\n',
  );
  assert.equal(
    encodeEntry(fileEntry(Buffer.from("etc/a<b>&c"), 6, crc64(Buffer.from("hello\n")), 1)),
    '{"type":1,"name":"etc/a\\u003cb\\u003e\\u0026c","size":6,"payload":"YUw+7uLYEAA=","position":1}\n',
  );
  assert.equal(
    encodeEntry(fileEntry(Buffer.from("etc/"), 0, null, 2)),
    '{"type":1,"name":"etc/","payload":null,"position":2}\n',
  );
  assert.equal(
    encodeEntry(fileEntry(Buffer.from([0xff, 0x78]), 0, null, 3)),
    '{"type":1,"name_raw":"/3g=","payload":null,"position":3}\n',
  );
});

test("goJsonString escapes like Go's encoding/json", () => {
  assert.equal(goJsonString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goJsonString("\n\r\t\b\f\x01\x1f\x7f"), '"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f"');
  assert.equal(goJsonString("\u2028\u2029é😀"), '"\\u2028\\u2029é😀"');
  assert.equal(goJsonString("x\ud800y"), '"x\\ufffdy"');
  assert.equal(goJsonString("'"), '"\'"');
});
