// The JavaScript SDK v3 shows each response's request ID ($metadata.requestId), success and error,
// one of its own per request. Run from tests/js with `node --test`, the server's URL in SDM_ENDPOINT.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DescribeTaskCommand,
  ListDevicesCommand,
  ResourceNotFoundException,
  SnowDeviceManagementClient,
} from "@aws-sdk/client-snow-device-management";

const ENDPOINT = process.env.SDM_ENDPOINT;
assert.ok(ENDPOINT, "SDM_ENDPOINT must hold the mock server's URL, e.g. http://127.0.0.1:5000");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const sdm = new SnowDeviceManagementClient({
  endpoint: ENDPOINT,
  region: "us-east-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
});

test("every response's $metadata.requestId is a request ID of its own, errors included", async () => {
  const first = await sdm.send(new ListDevicesCommand({}));
  const second = await sdm.send(new ListDevicesCommand({}));
  let error;
  try {
    await sdm.send(new DescribeTaskCommand({ taskId: "st-aaaaaaaaaaaaaaaa" }));
  } catch (caught) {
    error = caught;
  }

  assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
  const ids = [first.$metadata.requestId, second.$metadata.requestId, error.$metadata.requestId];
  for (const id of ids) assert.match(id ?? "", UUID);
  assert.equal(new Set(ids).size, 3);
});
