export { Dialog, DialogState, credentialsOf, dialogId } from './dialog';
