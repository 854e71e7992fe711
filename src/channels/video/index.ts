export { VideoChannel, type VideoConfig } from './video-channel';
export { VIDEO_PAGE_DIR, VIDEO_PAGE_SOURCES } from './page';
