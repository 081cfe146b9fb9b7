() => {
  // What sticks out of a phone-wide page: evaluated by tests/browser/test_layout_a11y.py.
  const width = document.documentElement.clientWidth;
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '');
      bad.push(`${name} [${Math.round(box.left)}..${Math.round(box.right)}] ` +
        (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 50));
    }
  }
  for (const el of document.querySelectorAll('body *')) {  // text spilling out of its box
    const style = getComputedStyle(el);
    if (el.clientWidth === 0 || style.overflowX !== 'visible' || style.display === 'inline') continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      bad.push(`${el.tagName.toLowerCase()} spills ${el.scrollWidth - el.clientWidth}px: ` +
        (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 50));
    }
  }
  for (const el of document.querySelectorAll('.figure, .num, .money')) {  // amounts stay whole
    if (el.children.length > 1 || !/[0-9]/.test(el.textContent || '')) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
    if (lines.size > 1) bad.push(`amount split over ${lines.size} lines: ${el.textContent.trim()}`);
  }
  return {scroll: document.documentElement.scrollWidth, bad: bad.slice(0, 12)};
}
