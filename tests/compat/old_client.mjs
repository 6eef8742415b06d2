// The browser helper of the app jobgate replaces, rebuilt from its rules
// (issue 14, "What the original client does") so that we can run it against
// jobgate unchanged. Keep it faithful, warts included: it is the yardstick,
// not a client to improve. Where the issue does not say what the original
// did, the choice is marked ASSUMED.
//
// Rules it follows:
// - POST {"request": <MultiAgentRequest>} to /api/multi-agent/submit with
//   Authorization: Bearer <token> and credentials: 'include'; on a non-2xx it
//   throws new Error(body.detail || body.message) (an array detail becomes
//   "[object Object]");
// - polls GET /jobs/{id}/status every pollInterval ms; on `completed` it GETs
//   /result and returns result.result; on `failed` it GETs /result and
//   throws new Error(result.error || 'Job processing failed'); every other
//   status is ignored and polled again;
// - catches every error inside the loop and re-throws only those whose
//   message contains 'timeout', 'not found' or 'failed' (case-sensitive);
//   any other error is logged and polling goes on until maxPollAttempts or
//   timeout.

const PREFIX = "/api/multi-agent";

export async function processAsyncJob(request, options = {}) {
  const {
    apiUrl = "",
    token,
    onProgress,
    pollInterval = 5000,
    maxPollAttempts = 120,
    timeout = 600000,
  } = options;
  const headers = {
    "Content-Type": "application/json",
    Authorization: `Bearer ${token}`,
  };

  const submitResponse = await fetch(`${apiUrl}${PREFIX}/submit`, {
    method: "POST",
    headers,
    credentials: "include",
    body: JSON.stringify({ request }),
  });
  if (!submitResponse.ok) {
    const body = await submitResponse.json();
    throw new Error(body.detail || body.message);
  }
  const { job_id: jobId } = await submitResponse.json();

  const startTime = Date.now();
  let attempts = 0;
  while (attempts < maxPollAttempts) {
    // ASSUMED: the time budget is checked before each poll.
    if (Date.now() - startTime > timeout) {
      throw new Error("Job processing timeout");
    }
    try {
      const statusResponse = await fetch(`${apiUrl}${PREFIX}/jobs/${jobId}/status`, {
        headers,
        credentials: "include",
      });
      if (!statusResponse.ok) {
        // ASSUMED: a failed poll is reported like a failed submit.
        const body = await statusResponse.json();
        throw new Error(body.detail || body.message);
      }
      const status = await statusResponse.json();
      // ASSUMED: onProgress gets the whole status body.
      if (onProgress) onProgress(status);

      if (status.status === "completed") {
        const resultResponse = await fetch(`${apiUrl}${PREFIX}/jobs/${jobId}/result`, {
          headers,
          credentials: "include",
        });
        const result = await resultResponse.json();
        return result.result;
      }
      if (status.status === "failed") {
        const resultResponse = await fetch(`${apiUrl}${PREFIX}/jobs/${jobId}/result`, {
          headers,
          credentials: "include",
        });
        const result = await resultResponse.json();
        throw new Error(result.error || "Job processing failed");
      }
      // pending, processing, cancelled, anything else: poll again.
    } catch (error) {
      const message = error.message;
      if (
        message.includes("timeout") ||
        message.includes("not found") ||
        message.includes("failed")
      ) {
        throw error;
      }
      console.error("Error polling job status:", error);
    }
    attempts++;
    await new Promise((resolve) => setTimeout(resolve, pollInterval));
  }
  // ASSUMED wording; it contains "timeout", as a caller of the original expects.
  throw new Error("Job processing timeout: maximum polling attempts reached");
}
