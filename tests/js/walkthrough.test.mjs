// The AWS SDK for JavaScript v3 against the moto-snowdevice server: every operation of
// snow-device-management, its results parsed by the SDK (dates, ARNs in paths, error classes).
// Run from tests/js with `node --test`, the server's URL in SDM_ENDPOINT (tests/test_clients.py does).

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, test } from "node:test";

import {
  CancelTaskCommand,
  CreateTaskCommand,
  DescribeDeviceCommand,
  DescribeDeviceEc2InstancesCommand,
  DescribeExecutionCommand,
  DescribeTaskCommand,
  ListDeviceResourcesCommand,
  ListDevicesCommand,
  ListExecutionsCommand,
  ListTagsForResourceCommand,
  ListTasksCommand,
  ResourceNotFoundException,
  SnowDeviceManagementClient,
  SnowDeviceManagementServiceException,
  TagResourceCommand,
  UntagResourceCommand,
  ValidationException,
  paginateListDevices,
  paginateListTasks,
} from "@aws-sdk/client-snow-device-management";

const ENDPOINT = process.env.SDM_ENDPOINT;
assert.ok(ENDPOINT, "SDM_ENDPOINT must hold the mock server's URL, e.g. http://127.0.0.1:5000");

const REGION = "us-east-1";
const EC2_INSTANCE = "AWS::EC2::Instance";
const INSTANCE_RUNNING = {
  instanceId: "s.i-84fa8a27d3e15e111",
  imageId: "s.ami-03f976c3cadaa6111",
  instanceType: "snc1.medium",
  state: { code: 16, name: "RUNNING" },
  createdAt: 1629760200,
  updatedAt: 1629760245,
};
const INSTANCE_STOPPED = {
  instanceId: "s.i-0b6f9d2c8a7e4f222",
  state: { code: 80, name: "STOPPED" },
  createdAt: 1629760300,
};
const UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa";

const sdm = new SnowDeviceManagementClient({
  region: REGION,
  endpoint: ENDPOINT,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: 1,
});

// Seeding through the server's control API (not part of the AWS API)

async function control(route, body) {
  const response = await fetch(`${ENDPOINT}/moto-api/snow-device-management/${route}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `POST ${route} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

const addDevice = (device = {}) => control("devices", { device });

const advanceExecution = (taskId, managedDeviceId, state) =>
  control("advance-execution", { taskId, managedDeviceId, state });

/** The execution's state as moto's dashboard shows it: a look that reports no work, so moves none. */
async function dashboardState(taskId, managedDeviceId) {
  const response = await fetch(`${ENDPOINT}/moto-api/data.json`);
  assert.equal(response.status, 200, `GET /moto-api/data.json answered ${response.status}`);
  const rows = (await response.json())["snow-device-management"].Execution;
  const matching = rows.filter((row) => row.task_id === taskId && row.managed_device_id === managedDeviceId);
  const shown = `the dashboard shows ${matching.length} executions of ${taskId} on ${managedDeviceId}`;
  assert.equal(matching.length, 1, shown);
  return matching[0].state;
}

const deviceState = async (managedDeviceId) =>
  (await sdm.send(new DescribeDeviceCommand({ managedDeviceId }))).deviceState;

/** A fresh job ID, so that ListDevices filtered by it sees only this test's devices. */
const newJob = () => `JID${randomUUID()}`;

async function newTask(targets, extra = {}) {
  return sdm.send(new CreateTaskCommand({ targets, command: { reboot: {} }, ...extra }));
}

/** The error a call fails with (the call must fail). */
async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded, an error was expected");
}

function assertRecentDate(value, what) {
  assert.ok(value instanceof Date, `${what} should be a Date, got ${typeof value} ${value}`);
  assert.ok(!Number.isNaN(value.getTime()), `${what} is an invalid Date`);
  const ageSeconds = (Date.now() - value.getTime()) / 1000;
  assert.ok(ageSeconds > -60 && ageSeconds < 3600, `${what} ${value.toISOString()} is not recent`);
}

describe("managed devices", () => {
  const job = newJob();
  let withInstances;
  let withoutInstances;

  before(async () => {
    withInstances = await addDevice({
      associatedWithJob: job,
      deviceType: "SNC1_HDD",
      deviceState: "LOCKED",
      tags: { site: "harbor", team: "field-ops" },
      instances: [INSTANCE_RUNNING, INSTANCE_STOPPED],
    });
    withoutInstances = await addDevice({ associatedWithJob: job, deviceType: "SNC1_SSD", tags: { site: "harbor" } });
  });

  test("seeding returns the managed device ID and its ARN", () => {
    assert.match(withInstances.managedDeviceId, /^smd-[a-z0-9]{16}$/);
    assert.equal(
      withInstances.managedDeviceArn,
      `arn:aws:snow-device-management:${REGION}:123456789012:managed-device/${withInstances.managedDeviceId}`,
    );
  });

  test("DescribeDevice returns the seeded document with its dates as Date objects", async () => {
    const device = await sdm.send(new DescribeDeviceCommand({ managedDeviceId: withInstances.managedDeviceId }));
    assert.equal(device.$metadata.httpStatusCode, 200);
    assert.equal(device.managedDeviceId, withInstances.managedDeviceId);
    assert.equal(device.managedDeviceArn, withInstances.managedDeviceArn);
    assert.equal(device.associatedWithJob, job);
    assert.equal(device.deviceType, "SNC1_HDD");
    assert.equal(device.deviceState, "LOCKED");
    assert.deepEqual(device.tags, { site: "harbor", team: "field-ops" });
    assertRecentDate(device.lastReachedOutAt, "lastReachedOutAt");
    assertRecentDate(device.lastUpdatedAt, "lastUpdatedAt");
    assert.ok(device.physicalNetworkInterfaces.length >= 1);
    assert.match(device.physicalNetworkInterfaces[0].physicalNetworkInterfaceId, /^s\.ni-/);
    const capacities = device.deviceCapacities.map((capacity) => capacity.name);
    assert.ok(capacities.includes("vCPU"), `capacities: ${capacities}`);
    for (const capacity of device.deviceCapacities) {
      assert.equal(typeof capacity.total, "number");
    }
    assert.equal(typeof device.software.installedVersion, "string");
  });

  test("DescribeDevice of an unknown device is a ResourceNotFoundException (404)", async () => {
    const error = await failure(sdm.send(new DescribeDeviceCommand({ managedDeviceId: "smd-aaaaaaaaaaaaaaaa" })));
    assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
    assert.equal(error.name, "ResourceNotFoundException");
    assert.equal(error.$metadata.httpStatusCode, 404);
  });

  test("ListDevices filtered by job lists both devices with their tags", async () => {
    const listed = await sdm.send(new ListDevicesCommand({ jobId: job }));
    assert.deepEqual(
      listed.devices.map((device) => device.managedDeviceId),
      [withInstances.managedDeviceId, withoutInstances.managedDeviceId],
    );
    assert.equal(listed.nextToken, undefined);
    const [first, second] = listed.devices;
    assert.equal(first.managedDeviceArn, withInstances.managedDeviceArn);
    assert.equal(first.associatedWithJob, job);
    assert.deepEqual(first.tags, { site: "harbor", team: "field-ops" });
    assert.deepEqual(second.tags, { site: "harbor" });
  });

  test("ListDevices pages one device at a time with maxResults", async () => {
    const pages = [];
    for await (const page of paginateListDevices({ client: sdm, pageSize: 1 }, { jobId: job })) {
      pages.push(page.devices.map((device) => device.managedDeviceId));
    }
    assert.deepEqual(pages, [[withInstances.managedDeviceId], [withoutInstances.managedDeviceId]]);
  });

  test("ListDeviceResources lists the device's EC2 instances", async () => {
    const listed = await sdm.send(
      new ListDeviceResourcesCommand({ managedDeviceId: withInstances.managedDeviceId, type: EC2_INSTANCE }),
    );
    assert.deepEqual(
      listed.resources.map((resource) => [resource.resourceType, resource.id]),
      [
        [EC2_INSTANCE, INSTANCE_RUNNING.instanceId],
        [EC2_INSTANCE, INSTANCE_STOPPED.instanceId],
      ],
    );
    for (const resource of listed.resources) {
      assert.ok(resource.arn.endsWith(`instance/${resource.id}`), resource.arn);
    }
    const none = await sdm.send(new ListDeviceResourcesCommand({ managedDeviceId: withoutInstances.managedDeviceId }));
    assert.deepEqual(none.resources, []);
  });

  test("ListDeviceResources pages with maxResults and nextToken", async () => {
    const ids = [];
    let nextToken;
    let pages = 0;
    do {
      const page = await sdm.send(
        new ListDeviceResourcesCommand({ managedDeviceId: withInstances.managedDeviceId, maxResults: 1, nextToken }),
      );
      assert.ok(page.resources.length <= 1);
      ids.push(...page.resources.map((resource) => resource.id));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken !== undefined && pages < 10);
    assert.deepEqual(ids, [INSTANCE_RUNNING.instanceId, INSTANCE_STOPPED.instanceId]);
  });

  test("DescribeDeviceEc2Instances returns the cached instances with Date timestamps", async () => {
    const described = await sdm.send(
      new DescribeDeviceEc2InstancesCommand({
        managedDeviceId: withInstances.managedDeviceId,
        instanceIds: [INSTANCE_RUNNING.instanceId, "s.i-00000000000000000"],
      }),
    );
    assert.equal(described.instances.length, 1);
    const [{ instance, lastUpdatedAt }] = described.instances;
    assertRecentDate(lastUpdatedAt, "lastUpdatedAt");
    assert.equal(instance.instanceId, INSTANCE_RUNNING.instanceId);
    assert.equal(instance.imageId, INSTANCE_RUNNING.imageId);
    assert.equal(instance.instanceType, INSTANCE_RUNNING.instanceType);
    assert.deepEqual(instance.state, { code: 16, name: "RUNNING" });
    assert.ok(instance.createdAt instanceof Date, `instance.createdAt: ${instance.createdAt}`);
    assert.equal(instance.createdAt.getTime(), INSTANCE_RUNNING.createdAt * 1000);
    assert.ok(instance.updatedAt instanceof Date, `instance.updatedAt: ${instance.updatedAt}`);
    assert.equal(instance.updatedAt.getTime(), INSTANCE_RUNNING.updatedAt * 1000);
  });
});

describe("tasks and executions", () => {
  const job = newJob();
  let devices;

  before(async () => {
    devices = [];
    for (let index = 0; index < 3; index += 1) {
      devices.push((await addDevice({ associatedWithJob: job })).managedDeviceId);
    }
  });

  test("CreateTask then DescribeTask returns what was sent, with Date timestamps", async () => {
    const created = await newTask(devices.slice(0, 2), {
      description: "Reboot the harbor devices, #1!",
      tags: { owner: "ops", batch: "1" },
      clientToken: `token-${randomUUID()}`,
    });
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.match(created.taskId, /^st-[a-z0-9]{16}$/);
    assert.equal(created.taskArn, `arn:aws:snow-device-management:${REGION}:123456789012:task/${created.taskId}`);

    const task = await sdm.send(new DescribeTaskCommand({ taskId: created.taskId }));
    assert.equal(task.taskId, created.taskId);
    assert.equal(task.taskArn, created.taskArn);
    assert.deepEqual(task.targets, devices.slice(0, 2));
    assert.equal(task.state, "IN_PROGRESS");
    assert.equal(task.description, "Reboot the harbor devices, #1!");
    assert.deepEqual(task.tags, { owner: "ops", batch: "1" });
    assertRecentDate(task.createdAt, "createdAt");
    assertRecentDate(task.lastUpdatedAt, "lastUpdatedAt");
    assert.equal(task.completedAt, undefined);
  });

  test("the same clientToken returns the same task", async () => {
    const clientToken = `token-${randomUUID()}`;
    const first = await newTask([devices[2]], { clientToken });
    const again = await newTask([devices[2]], { clientToken });
    assert.equal(again.taskId, first.taskId);
    await sdm.send(new CancelTaskCommand({ taskId: first.taskId }));
  });

  test("ListExecutions lists a task's execution on each device it targets", async () => {
    const { taskId } = await newTask(devices.slice(0, 2), { command: { unlock: {} } });

    const listed = await sdm.send(new ListExecutionsCommand({ taskId }));
    assert.deepEqual(
      listed.executions.map((execution) => [execution.taskId, execution.managedDeviceId]),
      devices.slice(0, 2).map((device) => [taskId, device]),
    );
    // The first two devices may still be busy with earlier tests' tasks; every execution is queued or running
    for (const execution of listed.executions) {
      assert.ok(["QUEUED", "IN_PROGRESS"].includes(execution.state), execution.state);
      assert.equal(typeof execution.executionId, "string");
    }
  });

  test("each ListExecutions moves an idle device one step: QUEUED, then IN_PROGRESS, then SUCCEEDED", async () => {
    const { managedDeviceId: device } = await addDevice({ associatedWithJob: job, deviceState: "LOCKED" });
    const { taskId } = await newTask([device], { command: { unlock: {} } });
    assert.equal(await dashboardState(taskId, device), "QUEUED");

    // Under moto's default progression the step happens before the answer is built, so the answer shows it
    const first = await sdm.send(new ListExecutionsCommand({ taskId }));
    assert.deepEqual(first.executions.map((execution) => execution.state), ["IN_PROGRESS"]);
    assert.equal(await deviceState(device), "UNLOCKING");
    const second = await sdm.send(new ListExecutionsCommand({ taskId }));
    assert.deepEqual(second.executions.map((execution) => execution.state), ["SUCCEEDED"]);
    assert.equal(await deviceState(device), "UNLOCKED");
    const third = await sdm.send(new ListExecutionsCommand({ taskId }));
    assert.deepEqual(third.executions.map((execution) => execution.state), ["SUCCEEDED"]);
    assert.equal(third.executions[0].executionId, first.executions[0].executionId);
  });

  test("advancing an execution to completion, then DescribeExecution and DescribeTask", async () => {
    const { managedDeviceId: device } = await addDevice({ associatedWithJob: job, deviceState: "LOCKED" });
    const own = await newTask([device], { command: { unlock: {} } });
    assert.equal(await dashboardState(own.taskId, device), "QUEUED");

    assert.equal((await advanceExecution(own.taskId, device, "IN_PROGRESS")).state, "IN_PROGRESS");
    // A filter that returns nothing reports no work, so this look moves nothing
    const queued = await sdm.send(new ListExecutionsCommand({ taskId: own.taskId, state: "QUEUED" }));
    assert.deepEqual(queued.executions, []);
    assert.equal(await dashboardState(own.taskId, device), "IN_PROGRESS");
    assert.equal(await deviceState(device), "UNLOCKING");

    assert.equal((await advanceExecution(own.taskId, device, "SUCCEEDED")).state, "SUCCEEDED");
    const succeeded = await sdm.send(new ListExecutionsCommand({ taskId: own.taskId, state: "SUCCEEDED" }));
    assert.deepEqual(succeeded.executions.map((execution) => execution.managedDeviceId), [device]);
    const execution = await sdm.send(new DescribeExecutionCommand({ taskId: own.taskId, managedDeviceId: device }));
    assert.equal(execution.taskId, own.taskId);
    assert.equal(execution.managedDeviceId, device);
    assert.equal(execution.executionId, succeeded.executions[0].executionId);
    assert.equal(execution.state, "SUCCEEDED");
    assertRecentDate(execution.startedAt, "startedAt");
    assertRecentDate(execution.lastUpdatedAt, "lastUpdatedAt");
    assert.ok(execution.lastUpdatedAt >= execution.startedAt);

    const task = await sdm.send(new DescribeTaskCommand({ taskId: own.taskId }));
    assert.equal(task.state, "COMPLETED");
    assertRecentDate(task.completedAt, "completedAt");
    assert.equal(await deviceState(device), "UNLOCKED");
  });

  test("DescribeExecution of a device the task does not target is a ResourceNotFoundException", async () => {
    const { taskId } = await newTask([devices[0]]);
    const error = await failure(
      sdm.send(new DescribeExecutionCommand({ taskId, managedDeviceId: "smd-aaaaaaaaaaaaaaaa" })),
    );
    assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 404);
  });

  test("CancelTask cancels a queued task; a second cancel is a ValidationException (400)", async () => {
    const { managedDeviceId } = await addDevice({ associatedWithJob: job });
    const { taskId } = await newTask([managedDeviceId]);

    const canceled = await sdm.send(new CancelTaskCommand({ taskId }));
    assert.equal(canceled.$metadata.httpStatusCode, 200);
    assert.equal(canceled.taskId, taskId);

    const task = await sdm.send(new DescribeTaskCommand({ taskId }));
    assert.equal(task.state, "CANCELED");
    const executions = await sdm.send(new ListExecutionsCommand({ taskId }));
    assert.deepEqual(executions.executions.map((execution) => execution.state), ["CANCELED"]);
    const listed = await sdm.send(new ListTasksCommand({ state: "CANCELED" }));
    assert.ok(listed.tasks.some((summary) => summary.taskId === taskId && summary.state === "CANCELED"));

    const error = await failure(sdm.send(new CancelTaskCommand({ taskId })));
    assert.ok(error instanceof ValidationException, `got ${error}`);
    assert.ok(error instanceof SnowDeviceManagementServiceException);
    assert.equal(error.name, "ValidationException");
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.equal(error.$fault, "client");
    assert.match(error.message, /CANCELED/);
  });

  test("CancelTask refuses a task whose execution is running", async () => {
    const { managedDeviceId } = await addDevice({ associatedWithJob: job });
    const { taskId } = await newTask([managedDeviceId]);
    await advanceExecution(taskId, managedDeviceId, "IN_PROGRESS");
    const error = await failure(sdm.send(new CancelTaskCommand({ taskId })));
    assert.ok(error instanceof ValidationException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 400);
  });

  test("DescribeTask of an unknown task is a ResourceNotFoundException (404)", async () => {
    const error = await failure(sdm.send(new DescribeTaskCommand({ taskId: UNKNOWN_TASK })));
    assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
    assert.ok(error instanceof SnowDeviceManagementServiceException);
    assert.equal(error.name, "ResourceNotFoundException");
    assert.equal(error.$metadata.httpStatusCode, 404);
    assert.equal(error.$fault, "client");
    assert.match(error.message, new RegExp(UNKNOWN_TASK));
  });

  test("CancelTask of an unknown task is a ResourceNotFoundException (404)", async () => {
    const error = await failure(sdm.send(new CancelTaskCommand({ taskId: UNKNOWN_TASK })));
    assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 404);
  });

  test("CreateTask with a ';' in its description is a ValidationException (400)", async () => {
    const error = await failure(newTask([devices[0]], { description: "reboot; now" }));
    assert.ok(error instanceof ValidationException, `got ${error}`);
    assert.equal(error.name, "ValidationException");
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.match(error.message, /description/);
  });

  test("CreateTask for an unknown device is a ResourceNotFoundException (404)", async () => {
    const error = await failure(newTask(["smd-aaaaaaaaaaaaaaaa"]));
    assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 404);
  });

  test("ListTasks pages with maxResults through every task exactly once", async () => {
    const created = [];
    for (let index = 0; index < 5; index += 1) {
      created.push((await newTask([devices[index % devices.length]], { tags: { index: String(index) } })).taskId);
    }
    const pages = [];
    for await (const page of paginateListTasks({ client: sdm, pageSize: 2 }, {})) {
      assert.ok(page.tasks.length <= 2, `a page of ${page.tasks.length} tasks`);
      pages.push(page.tasks);
    }
    const summaries = pages.flat();
    const ids = summaries.map((summary) => summary.taskId);
    assert.equal(new Set(ids).size, ids.length, "a task was listed twice");
    assert.ok(pages.length >= 3, `only ${pages.length} pages`);
    for (const [index, taskId] of created.entries()) {
      const summary = summaries.find((candidate) => candidate.taskId === taskId);
      assert.ok(summary, `task ${taskId} was not listed`);
      assert.equal(summary.taskArn, `arn:aws:snow-device-management:${REGION}:123456789012:task/${taskId}`);
      assert.ok(["IN_PROGRESS", "CANCELED", "COMPLETED"].includes(summary.state));
      assert.deepEqual(summary.tags, { index: String(index) });
    }
  });

  test("ListTasks with an invalid nextToken is a ValidationException (400)", async () => {
    const error = await failure(sdm.send(new ListTasksCommand({ nextToken: "bm90LWEtdG9rZW4=" })));
    assert.ok(error instanceof ValidationException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 400);
  });
});

describe("tags", () => {
  test("tags of a task round-trip through its ARN in the path", async () => {
    const { managedDeviceId } = await addDevice();
    const { taskArn } = await newTask([managedDeviceId], { tags: { owner: "ops" } });

    const tagged = await sdm.send(
      new TagResourceCommand({ resourceArn: taskArn, tags: { env: "test", team: "field", "cost:center": "42" } }),
    );
    assert.equal(tagged.$metadata.httpStatusCode, 200);
    let listed = await sdm.send(new ListTagsForResourceCommand({ resourceArn: taskArn }));
    assert.deepEqual(listed.tags, { owner: "ops", env: "test", team: "field", "cost:center": "42" });

    const untagged = await sdm.send(
      new UntagResourceCommand({ resourceArn: taskArn, tagKeys: ["env", "cost:center", "owner"] }),
    );
    assert.equal(untagged.$metadata.httpStatusCode, 200);
    listed = await sdm.send(new ListTagsForResourceCommand({ resourceArn: taskArn }));
    assert.deepEqual(listed.tags, { team: "field" });
  });

  test("tags of a managed device round-trip through its ARN in the path", async () => {
    const { managedDeviceId, managedDeviceArn } = await addDevice({ tags: { site: "harbor" } });
    await sdm.send(new TagResourceCommand({ resourceArn: managedDeviceArn, tags: { rack: "a/7", zone: "1" } }));
    let listed = await sdm.send(new ListTagsForResourceCommand({ resourceArn: managedDeviceArn }));
    assert.deepEqual(listed.tags, { site: "harbor", rack: "a/7", zone: "1" });

    await sdm.send(new UntagResourceCommand({ resourceArn: managedDeviceArn, tagKeys: ["site", "zone"] }));
    listed = await sdm.send(new ListTagsForResourceCommand({ resourceArn: managedDeviceArn }));
    assert.deepEqual(listed.tags, { rack: "a/7" });
    const device = await sdm.send(new DescribeDeviceCommand({ managedDeviceId }));
    assert.deepEqual(device.tags, { rack: "a/7" });
  });

  test("tagging an unknown resource is a ResourceNotFoundException (404)", async () => {
    const resourceArn = `arn:aws:snow-device-management:${REGION}:123456789012:task/${UNKNOWN_TASK}`;
    const error = await failure(sdm.send(new TagResourceCommand({ resourceArn, tags: { a: "b" } })));
    assert.ok(error instanceof ResourceNotFoundException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 404);
    const listError = await failure(sdm.send(new ListTagsForResourceCommand({ resourceArn })));
    assert.ok(listError instanceof ResourceNotFoundException, `got ${listError}`);
  });

  test("a malformed resource ARN is a ValidationException (400)", async () => {
    const error = await failure(sdm.send(new ListTagsForResourceCommand({ resourceArn: "not-an-arn" })));
    assert.ok(error instanceof ValidationException, `got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, 400);
  });
});
