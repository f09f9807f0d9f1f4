function pad(n) {
  return String(n).padStart(2, '0');
}

function clock(hours, minutes) {
  return `${pad(hours)}:${pad(minutes)}`;
}

module.exports = { clock };
