extension Page {
    static let script = #"""
        "use strict";
        const $ = (selector, root = document) => root.querySelector(selector);

        async function showHealth() {
          try {
            const health = await (await fetch("/api/health")).json();
            $("#health").textContent = `model ${health.model}, ${health.backend}; ` +
              `${health.queue.concurrentJobs} job(s) at a time, up to ${health.queue.capacity} waiting, ` +
              `uploads up to ${Math.round(health.limits.maxUploadBytes / 1048576)} MB`;
          } catch (error) {
            $("#health").textContent = "the server does not answer: " + error;
          }
        }

        function query(file) {
          const p = new URLSearchParams();
          const scale = $("#scale").value;
          if (scale === "width") p.set("width", $("#width").value); else p.set("scale", scale);
          p.set("strength", $("#strength").value);
          if ($("#format").value !== "auto") p.set("format", $("#format").value);
          p.set("name", file.name);
          return p.toString();
        }

        function setState(card, state, text, progress) {
          card.dataset.state = state;
          $(".status", card).textContent = text;
          if (progress !== undefined) $("progress", card).value = progress;
        }

        async function submit(file) {
          const card = $("#job-template").content.firstElementChild.cloneNode(true);
          $(".name", card).textContent = file.name;
          $("#jobs").prepend(card);
          $(".before", card).src = URL.createObjectURL(file);
          let answer;
          try {
            const response = await fetch("/api/upscale?" + query(file), { method: "POST", body: file });
            answer = await response.json();
            if (!response.ok) return setState(card, "failed", `refused (${response.status}): ${answer.error}`);
          } catch (error) {
            return setState(card, "failed", "upload failed: " + error);
          }
          card.dataset.id = answer.id;
          poll(card, answer.id);
        }

        async function poll(card, id) {
          let status;
          try {
            status = await (await fetch(`/api/jobs/${id}`)).json();
          } catch (error) {
            return setState(card, "failed", "lost the server: " + error);
          }
          if (status.error && !status.state) return setState(card, "failed", status.error);
          if (status.state === "queued") {
            setState(card, "queued", `waiting: position ${status.position} in the queue`, 0);
          } else if (status.state === "running") {
            setState(card, "running", `${status.phase || "starting"}: ${Math.round(status.progress * 100)} %, ${status.runSeconds} s`, status.progress);
          } else if (status.state === "failed") {
            return setState(card, "failed", "failed: " + status.error);
          } else if (status.state === "done") {
            return show(card, id, status);
          }
          setTimeout(() => poll(card, id), 400);
        }

        function show(card, id, status) {
          const after = $(".after", card);
          after.onload = () => {
            setState(card, "done", `${status.inputWidth}x${status.inputHeight} to ${status.outputWidth}x${status.outputHeight} ` +
              `in ${status.runSeconds} s (waited ${status.waitedSeconds} s)`, 1);
          };
          after.src = `/api/jobs/${id}/result`;
          $(".download", card).href = `/api/jobs/${id}/result`;
          $(".code", card).src = `/api/jobs/${id}/inspect/code`;
          const severity = $(".severity", card);
          severity.onerror = () => severity.parentElement.remove();
          severity.src = `/api/jobs/${id}/inspect/severity`;
          $(".code", card).onerror = () => card.querySelectorAll(".inspect").forEach(f => f.remove());
          $(".result", card).hidden = false;
          const compare = $(".compare", card), split = $(".split", card), zoom = $(".zoom", card);
          const place = () => {
            $(".before", card).style.clipPath = `inset(0 ${100 - split.value}% 0 0)`;
            $(".divider", card).style.left = `${split.value}%`;
          };
          split.oninput = place;
          zoom.onchange = () => {
            compare.dataset.zoom = zoom.value;
            compare.style.width = zoom.value === "fit" ? "" : `${after.naturalWidth * Number(zoom.value)}px`;
          };
          place();
        }

        function accept(files) {
          for (const file of files) submit(file);
        }

        const drop = $("#drop");
        drop.addEventListener("dragover", event => { event.preventDefault(); drop.classList.add("over"); });
        drop.addEventListener("dragleave", () => drop.classList.remove("over"));
        drop.addEventListener("drop", event => { event.preventDefault(); drop.classList.remove("over"); accept(event.dataTransfer.files); });
        $("#files").addEventListener("change", event => { accept(event.target.files); event.target.value = ""; });
        $("#scale").addEventListener("change", () => { $("#width-label").hidden = $("#scale").value !== "width"; });
        $("#strength").addEventListener("input", () => { $("#strength-value").textContent = Number($("#strength").value).toFixed(1); });
        showHealth();
        """#
}
