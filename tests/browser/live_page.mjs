// Opens a task's live page in headless Chromium (Debian's, driven by playwright-core) and
// reports what a person would see, as one JSON line on stdout:
//   node tests/browser/live_page.mjs <page url> <screenshot.png> <crosshair x> <crosshair y> <bar x,y>
// The video must play at its configured size; "Take control" must pause the task and show the
// bar of a person in control; after "Give back" the agent's first step must show in the log and
// its crosshair in the video, when the page is photographed.
import { chromium } from "playwright-core";

const [url, screenshotPath, crossX, crossY, barAt] = process.argv.slice(2);
const point = [Number(crossX), Number(crossY)];
const bar = barAt.split(",").map(Number);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.on("console", (message) => process.stderr.write(`page: ${message.text()}\n`));
  await page.goto(url);
  const started = Date.now();
  await page.waitForFunction(() => {
    const video = document.getElementById("video");
    return video.videoWidth > 0 && video.currentTime > 1;
  }, null, { timeout: 30000 });
  result.playing_after_ms = Date.now() - started;
  result.size = await page.evaluate(() => {
    const video = document.getElementById("video");
    return [video.videoWidth, video.videoHeight];
  });
  const t0 = await page.evaluate(() => document.getElementById("video").currentTime);
  await page.waitForTimeout(1000);
  const t1 = await page.evaluate(() => document.getElementById("video").currentTime);
  result.advanced = t1 - t0;

  // The bar's pixel and the crosshair's pixel, from the video.
  const sample = () => page.evaluate(([[x, y], [bx, by]]) => {
    const video = document.getElementById("video");
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0);
    const pixel = (px, py) => Array.from(context.getImageData(px, py, 1, 1).data);
    return { bar: pixel(bx, by), crosshair: pixel(x, y) };
  }, [point, bar]);
  result.before_take = await sample();

  await page.click("#take");
  await page.waitForFunction(() => window.live.status === "paused", null, { timeout: 30000 });
  await page.waitForTimeout(1500);
  result.during_take = await sample();
  await page.click("#give");

  // The first step: in the log, and its crosshair in the video (then the frame is held still
  // for the page's photograph).
  await page.waitForFunction(() => window.live.steps.length >= 1, null, { timeout: 60000 });
  result.log = await page.evaluate(() => document.getElementById("log").innerText);
  result.crosshair_seen = await page.evaluate(([x, y]) => new Promise((done) => {
    const video = document.getElementById("video");
    const canvas = document.createElement("canvas");
    const deadline = Date.now() + 10000;
    const look = () => {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0);
      const [r, g, b] = context.getImageData(x, y, 1, 1).data;
      if (r > 90 && b > 100 && g < 80) { video.pause(); done(true); return; }
      if (Date.now() > deadline) { done(false); return; }
      video.requestVideoFrameCallback(look);
    };
    look();
  }), point);
  result.video_box = await page.evaluate(() => {
    const box = document.getElementById("video").getBoundingClientRect();
    return [box.x, box.y, box.width, box.height];
  });
  await page.screenshot({ path: screenshotPath });
  result.error = await page.evaluate(() => window.live.error);
} catch (error) {
  result.failure = String(error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
