// Glass-to-browser latency of a live view: opens the page in headless Chromium (Debian's,
// driven by playwright-core) and reads the sandbox room's time stamp (the strip of 52 blocks in
// the top-left corner, see sandbox/src/stamp.rs) from each video frame as it is presented,
// against the page's clock (the same machine's). Prints one JSON line:
//   node tests/browser/latency.mjs <page url> <frames>
import { chromium } from "playwright-core";

const [url, wanted] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required"],
});
let result;
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("video").currentTime > 0.5, null, { timeout: 30000 });
  result = await page.evaluate((count) => new Promise((done) => {
    const video = document.getElementById("video");
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const latencies = [];
    let unreadable = 0;
    const crc8 = (value) => {
      let crc = 0xff;
      for (let shift = 32; shift >= 0; shift -= 8) {
        crc ^= Math.floor(value / 2 ** shift) % 256;
        for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
      }
      return crc;
    };
    const decode = () => {
      const data = context.getImageData(0, 0, 416, 32).data;
      const bits = [];
      for (let i = 0; i < 52; i++) {
        const bx = (i % 26) * 16 + 4, by = Math.floor(i / 26) * 16 + 4;
        let sum = 0;
        for (let y = by; y < by + 8; y++) for (let x = bx; x < bx + 8; x++) {
          const p = (y * 416 + x) * 4;
          sum += (data[p] + 2 * data[p + 1] + data[p + 2]) / 4;
        }
        const mean = sum / 64;
        if (mean >= 160) bits.push(1); else if (mean <= 95) bits.push(0); else return null;
      }
      if (bits.slice(0, 4).join("") !== "1010") return null;
      let value = 0;
      for (const bit of bits.slice(4, 44)) value = value * 2 + bit;
      let crc = 0;
      for (const bit of bits.slice(44)) crc = crc * 2 + bit;
      return crc === crc8(value) ? value : null;
    };
    const look = () => {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const stamp = decode();
      if (stamp === null) unreadable++;
      else latencies.push((Date.now() % 2 ** 40) - stamp);
      if (latencies.length >= count || unreadable > 10 * count) done({ latencies, unreadable });
      else video.requestVideoFrameCallback(look);
    };
    video.requestVideoFrameCallback(look);
  }), Number(wanted));
} catch (error) {
  result = { failure: String(error) };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
