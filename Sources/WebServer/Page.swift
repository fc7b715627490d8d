/// The single page of `savl serve`: HTML, CSS and a little JavaScript, embedded in the binary so that it
/// works offline, with no build step.
enum Page {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>savl: restore and upscale photos</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        <header>
          <h1>savl</h1>
          <p>Restore and upscale photos on this computer. Nothing leaves it.</p>
          <p id="health" class="muted">connecting...</p>
        </header>
        <main>
          <section id="controls">
            <label>Scale
              <select id="scale">
                <option value="4" selected>x4</option>
                <option value="2">x2</option>
                <option value="width">width in pixels</option>
              </select>
            </label>
            <label id="width-label" hidden>Width <input id="width" type="number" min="1" max="100000" value="2000"></label>
            <label>Strength <input id="strength" type="range" min="0" max="2" step="0.1" value="1"> <output id="strength-value">1.0</output></label>
            <label>Format
              <select id="format">
                <option value="auto" selected>as the photo</option>
                <option value="png">PNG</option>
                <option value="jpg">JPEG</option>
                <option value="webp">WebP</option>
              </select>
            </label>
            <div id="drop" tabindex="0">
              <p><strong>Drop photos here</strong> or <label class="button">choose photos<input id="files" type="file" accept="image/png,image/jpeg,image/webp,image/bmp" multiple hidden></label></p>
              <p class="muted">PNG, JPEG, WebP or BMP. Each photo is upscaled with the options above.</p>
            </div>
          </section>
          <section id="jobs"></section>
        </main>
        <template id="job-template">
          <article class="job" data-state="uploading">
            <h2 class="name"></h2>
            <p class="status">uploading...</p>
            <progress max="1" value="0"></progress>
            <div class="result" hidden>
              <div class="toolbar">
                <label>Zoom <select class="zoom"><option value="fit" selected>fit</option><option value="1">1:1</option><option value="2">2:1</option><option value="4">4:1</option></select></label>
                <label>Before | after <input class="split" type="range" min="0" max="100" value="50"></label>
                <a class="button download" download>Download</a>
              </div>
              <div class="views">
                <div class="compare-frame"><div class="compare">
                  <img class="before" alt="before">
                  <img class="after" alt="after">
                  <div class="divider"></div>
                </div></div>
                <figure class="inspect"><img class="code" alt="degradation code"><figcaption>Degradation code: equal colours, equal degradation</figcaption></figure>
                <figure class="inspect"><img class="severity" alt="severity"><figcaption>Severity: the encoder's uncertainty</figcaption></figure>
              </div>
            </div>
          </article>
        </template>
        <script>
        \(script)
        </script>
        </body>
        </html>
        """
}
