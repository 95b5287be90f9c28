/** verifyToolCall against the vectors of docs/tool-signing.md and tampered requests. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolSignatureError, signToolCall, toolCanonicalString, verifyToolCall } from '@tengineai/sdk';

const SECRET = 'tool-secret-0123456789';
const REQUEST_ID = '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b';
const NOW = 1_800_000_030_000;
const POST_TARGET = '/v1/weather/Oslo?units=metric&q=a%20b';
const POST_BODY = '{"city":"Oslo","days":3}';
const POST_SIG = 'tng2=17936faeebfb99a288a68b9cf5f7545c8639082b784dfcb34fc834a30f19af92';
const GET_SIG = 'tng2=e4bfd0f34c4d2904a867c2ab4a5abdd8579eb9c6fba4e93eaaf9f05aab26fe41';

function headers(sig: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'X-Tengine-Signature': sig, 'X-Tengine-Timestamp': '1800000000', 'X-Tengine-Request-Id': REQUEST_ID, ...extra };
}

describe('verifyToolCall', () => {
  it('signs and verifies both documented vectors', () => {
    assert.equal(signToolCall(SECRET, 1800000000, REQUEST_ID, 'post', POST_TARGET, POST_BODY), POST_SIG);
    assert.equal(signToolCall(SECRET, 1800000000, REQUEST_ID, 'GET', '/v1/contacts/42', ''), GET_SIG);
    assert.ok(
      toolCanonicalString(1800000000, REQUEST_ID, 'POST', POST_TARGET, POST_BODY).endsWith(
        '\n9e464220cba076199d02c269c6ce08af3044386d0159da63fe40d9171aa9c38f',
      ),
    );
    const call = verifyToolCall(
      SECRET,
      { method: 'POST', target: POST_TARGET, body: new TextEncoder().encode(POST_BODY), headers: headers(POST_SIG, { 'x-tengine-tool': 'weather' }) },
      { now: NOW },
    );
    assert.deepEqual([call.requestId, call.timestamp, call.tool, call.memberId], [REQUEST_ID, 1800000000, 'weather', undefined]);
    const fetchHeaders = new Headers(headers(GET_SIG));
    assert.equal(verifyToolCall(SECRET, { method: 'GET', target: '/v1/contacts/42', body: '', headers: fetchHeaders }, { now: NOW }).requestId, REQUEST_ID);
  });

  it('refuses a tampered body, path, method or request id', () => {
    const cases: Array<[string, string, string, Record<string, string>]> = [
      ['POST', POST_TARGET, '{"city":"Oslo","days":4}', headers(POST_SIG)],
      ['POST', '/v1/weather/Oslo?units=imperial&q=a%20b', POST_BODY, headers(POST_SIG)],
      ['PUT', POST_TARGET, POST_BODY, headers(POST_SIG)],
      ['POST', POST_TARGET, POST_BODY, headers(POST_SIG, { 'X-Tengine-Request-Id': '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6c' })],
    ];
    for (const [method, target, body, h] of cases) {
      assert.throws(() => verifyToolCall(SECRET, { method, target, body, headers: h }, { now: NOW }), ToolSignatureError);
    }
    assert.throws(
      () => verifyToolCall('another-secret', { method: 'POST', target: POST_TARGET, body: POST_BODY, headers: headers(POST_SIG) }, { now: NOW }),
      /No matching/,
    );
  });

  it('accepts any value of a rotation list and refuses a stale time or a missing header', () => {
    const req = { method: 'POST', target: POST_TARGET, body: POST_BODY };
    assert.ok(verifyToolCall(SECRET, { ...req, headers: headers(`tng2=00ff, ${POST_SIG}`) }, { now: NOW }));
    assert.throws(() => verifyToolCall(SECRET, { ...req, headers: headers(POST_SIG) }, { now: NOW + 300_000 }), /tolerance/);
    assert.throws(() => verifyToolCall(SECRET, { ...req, headers: { 'X-Tengine-Timestamp': '1800000000' } }, { now: NOW }), /Missing/);
  });
});
