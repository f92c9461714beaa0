// Bootstrap Italia's bundle carries video.js, which otherwise writes <style> elements
// into the page at load time: the Content-Security-Policy (style-src 'self') refuses them.
// Its own CSS already holds those rules, so it is told not to.
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
