/** Entry of the page bundle. zod-csp must stay the first import (see there). */
import './zod-csp';
import { App } from './app';

void new App().start();
