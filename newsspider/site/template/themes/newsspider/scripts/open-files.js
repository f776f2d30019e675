/* global hexo */
'use strict';

// Hexo 7 reads every file of source/ at once (hexo-fs calls fs.promises.readFile for all of
// them together, and fs.promises gets no EMFILE retry from graceful-fs): an archive of 20,000
// posts and 40,000 images stops with "EMFILE: too many open files" under any usual limit on open
// files (1,024 on many systems; it failed here at 20,000). graceful-fs's retries do not reach
// fs.promises, nor (on Node 20) the read streams Hexo hashes and copies every image with. This
// lets at most LIMIT of Hexo's file reads, writes and read streams hold a descriptor at a time,
// queues the rest, and retries one that still finds none free. Only the order in which files
// are touched changes.
const fs = require('fs');
const { PassThrough } = require('stream');
const hexoFs = require('hexo-fs');

const LIMIT = 128;
let running = 0;
const waiting = [];

function acquire() {
  if (running < LIMIT) {
    running += 1;
    return Promise.resolve();
  }
  return new Promise(resolve => waiting.push(resolve));
}

function release() {
  const next = waiting.shift();
  if (next) next();
  else running -= 1;
}

const OUT_OF_FILES = new Set(['EMFILE', 'ENFILE']);

// what graceful-fs does for callbacks: a call that finds no free descriptor (image streams
// hold some too) waits a moment and tries again, for up to a minute
function attempt(original, self, args, started) {
  return original.apply(self, args).catch(err => {
    if (!OUT_OF_FILES.has(err && err.code) || Date.now() - started > 60000) throw err;
    return new Promise(resolve => setTimeout(resolve, 20)).then(
      () => attempt(original, self, args, started));
  });
}

for (const name of ['readFile', 'writeFile', 'appendFile', 'copyFile']) {
  const original = fs.promises[name];
  if (typeof original !== 'function' || original.newsspiderLimited) continue;
  const limited = function (...args) {
    return acquire()
      .then(() => attempt(original, this, args, Date.now()))
      .finally(release);
  };
  limited.newsspiderLimited = true;
  fs.promises[name] = limited;
}

// hexo-fs's createReadStream, as Hexo calls it (box/index.js for hashes, generator/asset.js for
// copies): the caller gets a stream at once, and the file is opened when a slot is free
function openStream(original, path, options, out, started) {
  const src = original(path, options);
  let retrying = false;
  src.once('error', err => {
    if (OUT_OF_FILES.has(err && err.code) && Date.now() - started < 60000) {
      retrying = true;
      setTimeout(() => openStream(original, path, options, out, started), 20);
    } else {
      out.destroy(err);
    }
  });
  src.once('close', () => {
    if (!retrying) release();
  });
  src.pipe(out);
}

const originalStream = hexoFs.createReadStream;
if (typeof originalStream === 'function' && !originalStream.newsspiderLimited) {
  const limitedStream = function (path, options) {
    const out = new PassThrough();
    acquire().then(() => openStream(originalStream, path, options, out, Date.now()));
    return out;
  };
  limitedStream.newsspiderLimited = true;
  hexoFs.createReadStream = limitedStream;
}
