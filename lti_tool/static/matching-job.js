// The review page follows a running matching job: it polls the job's status (JSON) every second, moves the
// progress bar and its text, and reloads the page once the job has finished, to show its drafts or matches.
(() => {
  const section = document.querySelector("[data-job-status-url]");
  if (!section || section.dataset.jobActive !== "true") return;
  const bar = section.querySelector("progress");
  const text = section.querySelector("#job-text");
  const poll = async () => {
    try {
      const answer = await fetch(section.dataset.jobStatusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (answer.ok) {
        const job = await answer.json();
        if (!job.active) {
          window.location.reload();
          return;
        }
        if (job.total) {
          bar.max = job.total;
          bar.value = job.done;
        }
        text.textContent = job.text;
      }
    } catch {
      // The next poll tries again: a worker restart or a dropped connection only delays the bar.
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
})();
