// A web page using the AWS SDK for JavaScript v3 against the mock server on another origin: creates,
// cancels and lists tasks, then reports what the SDK returned to the page's own server (POST /report).
// tests/test_cors.py bundles it for the browser with esbuild and opens it in headless Chromium with
// ?endpoint=<mock server URL>&device=<a seeded managed device ID>.

import {
  CancelTaskCommand,
  CreateTaskCommand,
  DescribeTaskCommand,
  ListDevicesCommand,
  ListTasksCommand,
  SnowDeviceManagementClient,
} from "@aws-sdk/client-snow-device-management";

const UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa";
const query = new URLSearchParams(location.search);
const sdm = new SnowDeviceManagementClient({
  region: "us-east-1",
  endpoint: query.get("endpoint"),
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: 1,
});

// Each step's outcome, so a failure names the call that failed and how
async function walkthrough(report) {
  report.step = "ListDevices";
  const devices = await sdm.send(new ListDevicesCommand({}));
  report.devices = devices.devices.map((device) => device.managedDeviceId);

  // Cancel before any read: under moto's default progression each ListTasks or DescribeTask that
  // reports a task's work moves its device one step, and a running task can no longer be canceled
  report.step = "CreateTask";
  const created = await sdm.send(
    new CreateTaskCommand({ targets: [query.get("device")], command: { reboot: {} } }),
  );
  report.taskId = created.taskId;
  report.taskArn = created.taskArn;

  report.step = "CancelTask";
  report.canceled = (await sdm.send(new CancelTaskCommand({ taskId: created.taskId }))).taskId;

  report.step = "CreateTask of a second task";
  report.runningTaskId = (
    await sdm.send(new CreateTaskCommand({ targets: [query.get("device")], command: { reboot: {} } }))
  ).taskId;

  report.step = "ListTasks";
  const listed = await sdm.send(new ListTasksCommand({}));
  report.listed = listed.tasks.map((task) => ({ taskId: task.taskId, state: task.state }));

  report.step = "DescribeTask";
  report.state = (await sdm.send(new DescribeTaskCommand({ taskId: created.taskId }))).state;

  report.step = "DescribeTask of an unknown task";
  try {
    await sdm.send(new DescribeTaskCommand({ taskId: UNKNOWN_TASK }));
    report.unknownTask = { name: "no error" };
  } catch (error) {
    report.unknownTask = { name: error.name, status: error.$metadata?.httpStatusCode };
  }
  report.step = "done";
}

const report = {};
try {
  await walkthrough(report);
} catch (error) {
  report.failure = { name: error.name, message: String(error.message) };
}
document.getElementById("report").textContent = JSON.stringify(report, null, 2);
await fetch("report", { method: "POST", body: JSON.stringify(report) });
